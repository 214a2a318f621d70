"""Apache's rule languages: ap_expr, mod_authz's Require and Order/Allow/Deny, mod_rewrite.

Each is a data type the configuration holds, checked when the config is
read (so ``itkgw -t`` refuses what httpd refuses) and evaluated per request
against an ExprContext. Nothing here reads configuration files, parses
HTTP or changes a process.
"""
