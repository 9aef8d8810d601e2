"""The one path from "a file exists" to "the catalog knows it": a scan (``scan``, with its
head start ``prefetch``), the batched recording every caller shares (``ingest``, building its
rows in ``rows``), a manual tag (``manual``) and keeping tags in step (``tags``)."""
