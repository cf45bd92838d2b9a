"""Data: sequences and motifs, the simulations, genome regions and peaks, negatives, sequence
tables, downloads, dataset files on disk and the export formats. Imports nothing else of the
package."""
