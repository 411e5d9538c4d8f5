"""The outside world: SCB's Statistikdatabasen CSV exports and API (PxWeb), JSON-stat files
and Kolada. Each reader names the file, row and column of what it cannot read. The bundled
data are in :mod:`bryta.datasets` and :mod:`bryta.geography`."""
