"""itkbench: itkgw measured side by side with Apache+mpm-itk and nginx+php-fpm.

Every system serves the same two vhosts, each under its own Unix user, from
its own config in a work directory, on its own loopback port; wrk loads each
cell on each system in turn, so drift on a shared machine hits all alike.
"""
