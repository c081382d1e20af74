"""Records: atomic files, provenance and the ASE database of every calculation."""
