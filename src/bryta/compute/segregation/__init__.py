"""Segregation indices: counts, margins, the index registry and engine, M/H decompositions,
local and pairwise measures, inference, change and rank-order measures."""
