"""The convergence harness (``passivscreen converge``): how far E_ads moves with the vacuum, the slab
thickness, the lateral cell and the SCF accuracy, one setting at a time, at the screen's final geometries."""
