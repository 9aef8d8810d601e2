"""Signal families: one module per kind of AI mark, each reading what a container walk found
(or the files beside it) and returning its signals and problems."""
