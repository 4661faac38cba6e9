"""The panes of the rnntui screen, one widget per module, each drawn from the Session's trace."""
