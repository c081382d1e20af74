"""Analysis: adsorption energies, geometry, integrity flags, electronic structure (bond orders, trap
states, projected DOS) and figures."""
