--TEST--
Files a script writes belong to the vhost's user
--FILE--
<?php
file_put_contents(__DIR__ . '/out.txt', 'data');
$st = stat(__DIR__ . '/out.txt');
echo posix_getpwuid($st['uid'])['name'], ' ', posix_getgrgid($st['gid'])['name'], "\n";
unlink(__DIR__ . '/out.txt');
?>
--EXPECT--
itkp-alice itkp-alice
