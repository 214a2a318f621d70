--TEST--
Two vhosts, two uids: each vhost's script runs as its own user (the seed's basic test)
--BOB_FILE--
<?php echo posix_getpwuid(posix_geteuid())['name'];
--FILE--
<?php
$port = $_SERVER['SERVER_PORT'];
$dir = basename(__DIR__);
$ctx = stream_context_create(['http' => ['header' => "Host: bob.phpt:$port\r\n"]]);
echo posix_getpwuid(posix_geteuid())['name'], "\n";
echo file_get_contents("http://127.0.0.1:$port/$dir/two_vhosts_two_uids.php", false, $ctx), "\n";
?>
--EXPECT--
itkp-alice
itkp-bob
