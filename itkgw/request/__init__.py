"""From a request head to a plan, before anything is opened: which vhost, which file, who runs it.

``vhosts`` chooses the vhost by address and Host; ``dirconf`` maps the URL
onto the filesystem and merges the sections that apply; ``routing`` runs
mod_rewrite and the access rules and resolves the identity; ``variables``
is what ap_expr sees of the request; ``mime`` is the content-type table.
This runs before the identity switch, so it opens no tenant file (RewriteCond
-f and -d only stat, as mod_rewrite does in vhost context).
"""
