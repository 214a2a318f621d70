--TEST--
header() and http_response_code() set the status and headers
--FILE--
<?php
http_response_code(201);
header('X-Custom: yes');
header('Content-Type: text/plain; charset=utf-8');
echo http_response_code(), "\n";
?>
--EXPECT--
201
--EXPECTHEADERS--
X-Custom: yes
Content-Type: text/plain; charset=utf-8
