"""The asset lifecycle in one place: ``states`` holds the statuses, their groups, the moves
allowed between them and ``move``, the one function that changes an asset's status."""
