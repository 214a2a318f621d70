--TEST--
A session started in one request is read back in the next
--FILE--
<?php
ob_start();
session_id('itkgwphptsession01');
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
$first = $_SESSION['n'];
session_write_close();
$_SESSION = [];
session_start();
$second = $_SESSION['n'];
session_destroy();
ob_end_clean();
echo $first, ' ', $second, "\n";
?>
--EXPECT--
1 1
