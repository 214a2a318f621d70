--TEST--
A status line from header() keeps its code
--FILE--
<?php header("HTTP/1.1 418 I'm a teapot"); echo http_response_code(), "\n";
--EXPECT--
418
