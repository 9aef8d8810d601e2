"""Who acts and what they may do: the caller as the kernel says (``identity``) and the one
table of roles and the actions each allows (``roles``)."""
