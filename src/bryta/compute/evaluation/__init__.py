"""Evaluation designs: did areas with an intervention develop differently from comparable
areas? Pure functions over polars frames (a panel of units × periods in, estimates out):

* ``did``: staggered difference-in-differences (Callaway & Sant'Anna 2021), group-time ATTs
  and their aggregations, with two-way fixed effects beside them for comparison;
* ``placebo``: placebo in space and in time for ``did`` and the minimum detectable effect;
* ``synth``: the synthetic control method (Abadie, Diamond & Hainmueller 2010) with in-space
  placebos and leave-one-out.

The public entry points are in :mod:`bryta.evaluate`.
"""
