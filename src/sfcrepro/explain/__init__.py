"""Explanation: attribution methods, in-silico mutagenesis, per-position importance, attribution
scored against planted motifs, and motif discovery. Imports the network and data subpackages."""
