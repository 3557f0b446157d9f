"""MovieLens 1M data layer: download, strict parsing, a synthetic generator, the Beam
conversion to the CSV rows CsvExampleGen ingests, and the serving contract (one such row,
as a request to the exported model).

Data flow: ratings.dat / users.dat / movies.dat  ->  (conversion/, Beam)  ->  csv/train,
csv/validation, csv/eval, csv/catalog  ->  CsvExampleGen.
"""
