"""rnntui: step through a recurrent neural network in the terminal."""

__version__ = "0.1.0"
