"""The classroom: a presenter's app sends its position over TCP and followers' apps show it."""
