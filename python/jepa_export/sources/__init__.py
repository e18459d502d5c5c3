"""One module per export SOURCE (sources.json lists them): `add_arguments(parser)` and
`export(args, out) -> (jepa.json dict, summary extras)`."""
