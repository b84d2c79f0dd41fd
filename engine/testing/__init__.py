# Test helpers shared by the engine suite, the Odoo test suite and the benchmarks: a throwaway
# PKI built at run time (never fixed-date fixtures) and a local RFC 3161 timestamp server.
# Nothing here is used in production code paths.
