"""Spatial scale: bespoke k-nearest-neighbour neighbourhoods, tiles, distance decay,
multiscalar profiles, spatial dissimilarity and the spatial information theory index."""
