"""MovieLens 1M data layer: download, strict parsing, a synthetic generator, and the Beam
conversion to the CSV rows CsvExampleGen ingests.

Data flow: ratings.dat / users.dat / movies.dat  ->  (convert.py, Beam)  ->  csv/train,
csv/eval, csv/catalog  ->  CsvExampleGen.
"""
