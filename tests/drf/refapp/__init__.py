"""A stock Django REST framework service shaped like the hosted variant endpoint,
answering from local VCFs through the `vcfq` Python package (the reference that
`differential.py` compares `vcfq serve` with)."""
