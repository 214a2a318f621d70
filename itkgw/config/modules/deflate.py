"""mod_deflate: gzip for the responses an output filter setting hands it.

AddOutputFilterByType DEFLATE (mod_filter) or SetOutputFilter DEFLATE (core)
says which responses; these settings say how, with mod_deflate's defaults.
Only the output filter exists here: a request body is never inflated.
"""

from __future__ import annotations

from dataclasses import dataclass

from itkgw.config.directive import SERVER_VHOST, Context, Directive, Module, no_effect
from itkgw.config.kinds import Choice, Int


@dataclass(frozen=True)
class DeflateSettings:
    """How DEFLATE compresses, per server or vhost; None: mod_deflate's default."""

    #: zlib's level, 1 (fastest) to 9 (smallest); default zlib's own (6).
    compression_level: int | None = None
    #: zlib's memLevel and windowBits (mod_deflate's defaults 9 and 15).
    mem_level: int | None = None
    window_size: int | None = None
    #: DeflateAlterETag: "addsuffix" (default: "-gzip" inside the quotes), "nochange", "remove".
    alter_etag: str | None = None


_NO_INFLATE = "itkgw never inflates a request body (it has no DEFLATE input filter)"

MODULE = Module(
    "deflate",
    "mod_deflate: gzip-compressed responses",
    identifiers=("deflate_module", "mod_deflate.c"),
    directives=(
        Directive("DeflateCompressionLevel", "deflate_compression_level", SERVER_VHOST, Int(low=1, high=9),
                  "how hard zlib compresses: 1 (fastest) to 9 (smallest); default 6",
                  field="compression_level"),
        Directive("DeflateMemLevel", "deflate_mem_level", SERVER_VHOST, Int(low=1, high=9),
                  "zlib's memory level, 1 to 9 (default 9)", field="mem_level"),
        Directive("DeflateWindowSize", "deflate_window_size", SERVER_VHOST, Int(low=1, high=15),
                  "zlib's window size, 1 to 15 (default 15)", field="window_size"),
        Directive("DeflateAlterETag", "deflate_alter_etag", SERVER_VHOST,
                  Choice(options=("addsuffix", "nochange", "remove")),
                  "the ETag of a compressed response: AddSuffix (default, \"-gzip\" added inside the "
                  "quotes), NoChange or Remove", field="alter_etag"),
        no_effect("DeflateBufferSize", "itkgw holds a compressed response whole until 64 KiB of it "
                  "were compressed, as httpd does with the default size", SERVER_VHOST),
        no_effect("DeflateFilterNote", "itkgw keeps no compression ratio notes for the access log"),
        no_effect("DeflateInflateLimitRequestBody", _NO_INFLATE, SERVER_VHOST),
        no_effect("DeflateInflateRatioBurst", _NO_INFLATE, SERVER_VHOST),
        no_effect("DeflateInflateRatioLimit", _NO_INFLATE, SERVER_VHOST),
    ),
    settings={Context.SERVER: DeflateSettings, Context.VHOST: DeflateSettings},
)
