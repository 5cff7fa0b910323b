"""Glue ETL raw -> gold: the job script and its DataFrame transformations."""
