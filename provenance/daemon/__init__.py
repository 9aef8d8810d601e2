"""The service: the daemon itself (``service``), its scheduled jobs (``jobs``, ``scheduler``),
its state files (``runstate``), systemd (``systemd``) and its metrics (``metrics``). Watching
the roots is ``provenance.watch``."""
