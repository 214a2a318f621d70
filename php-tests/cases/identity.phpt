--TEST--
The script runs as the vhost's user, with no capabilities
--FILE--
<?php
$me = posix_getpwuid(posix_geteuid())['name'];
echo $me, "\n";
var_dump(posix_getuid() === posix_geteuid(), posix_getgid() === posix_getegid(), posix_getuid() !== 0);
preg_match('/^CapEff:\s+(\S+)/m', file_get_contents('/proc/self/status'), $m);
echo $m[1], "\n";
?>
--EXPECT--
itkp-alice
bool(true)
bool(true)
bool(true)
0000000000000000
