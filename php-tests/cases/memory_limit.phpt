--TEST--
memory_limit stops a runaway script with a fatal error
--INI--
memory_limit=8M
--FILE--
<?php
$a = [];
while (true) $a[] = str_repeat('x', 1024 * 1024);
?>
--EXPECTF--
%AFatal error: Allowed memory size of 8388608 bytes exhausted%s
