"""Container formats: one module per format walks a file's segments, chunks or boxes and
collects its metadata blocks (``blocks.Parts``) for the signal families to read; ``sniff``
names the format from the first bytes, ``walk`` picks the walker."""
