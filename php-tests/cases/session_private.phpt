--TEST--
Sessions are written by the vhost's user, in a directory the other vhost cannot read
--BOB_FILE--
<?php
$path = $_GET['path'];
var_dump(@file_get_contents($path), @scandir(dirname($path)));
--FILE--
<?php
session_start();
$_SESSION['secret'] = 'alice only';
session_write_close();
$path = session_save_path() . '/sess_' . session_id();
$owner = posix_getpwuid(fileowner($path))['name'];
echo $owner, ' ', substr(sprintf('%o', fileperms($path)), -3), "\n";
var_dump(str_starts_with(session_save_path(), '/tmp/') && session_save_path() !== '/tmp');
$port = $_SERVER['SERVER_PORT'];
$ctx = stream_context_create(['http' => ['header' => "Host: bob.phpt:$port\r\n"]]);
echo file_get_contents("http://127.0.0.1:$port/" . basename(__DIR__) . '/session_private.php?path=' . urlencode($path), false, $ctx);
?>
--EXPECTF--
itkp-alice 600
bool(%s)
bool(false)
bool(false)
