"""The configuration: model, readers, directive table, checks, and what -S and convert print.

``model`` is the frozen dataclasses every other room reads. ``toml_reader``
and ``apache_reader`` fill it, looking each setting up in ``table``, which
``modules`` assemble (one file per Apache module, see itkgw.config.modules).
``kinds`` and ``kinds_structured`` read one value of each kind; ``checks``
are what both readers verify; ``convert`` writes the model back as TOML;
``report`` is ``itkgw -S``. Code here reads files and looks up users; it
never opens a socket and never changes a uid.
"""
