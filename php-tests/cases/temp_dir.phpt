--TEST--
The temporary directory is writable, and files there belong to the vhost's user
--FILE--
<?php
$f = tempnam(sys_get_temp_dir(), 'phpt');
file_put_contents($f, 'x');
echo posix_getpwuid(fileowner($f))['name'], "\n";
unlink($f);
?>
--EXPECT--
itkp-alice
