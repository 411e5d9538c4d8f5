"""bryta: measure residential segregation."""
__version__ = "0.1.0"
