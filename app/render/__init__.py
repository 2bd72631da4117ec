"""Drawing with matplotlib: CJK fonts, the screening site map, summary charts.

Sits beside app/geo: it may read the catalog's styles, never the store or the services.
"""
