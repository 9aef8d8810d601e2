"""Files on production storage: changes confined to a root (``confined``)."""
