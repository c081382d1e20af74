# GPAW built from PyPI's source for the tests (.ci/run): serial (no MPI: Debian's mpicc from cp2k's
# Open MPI lacks its development libraries), against Debian's libxc and OpenBLAS.
mpi = False
compiler = "gcc"
libraries = ["xc", "openblas"]
