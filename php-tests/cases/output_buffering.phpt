--TEST--
Output buffers and headers_sent() behave as under mod_php
--FILE--
<?php
ob_start();
echo "buffered";
var_dump(headers_sent());
$b = ob_get_clean();
echo strtoupper($b), "\n";
?>
--EXPECTF--
BUFFEREDBOOL(FALSE)
