--TEST--
The script holds only the vhost user's own groups
--FILE--
<?php
$names = array_map(fn($g) => posix_getgrgid($g)['name'], posix_getgroups());
var_dump(in_array('root', $names), in_array('itkp-www', $names), posix_getgrgid(posix_getegid())['name']);
?>
--EXPECT--
bool(false)
bool(false)
string(10) "itkp-alice"
