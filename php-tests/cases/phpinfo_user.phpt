--TEST--
phpinfo() never names the user as #-1/-1, and the script's user is the vhost's (the seed comment's second report)
--FILE--
<?php
ob_start();
phpinfo();
$info = ob_get_clean();
var_dump(strpos($info, '#-1') === false);
if (preg_match('/^User\/Group => (.*)$/m', $info, $m)) {
    var_dump(str_starts_with($m[1], 'itkp-alice('));
} else {
    var_dump(true);  // php-cgi's phpinfo() has no User/Group line; mod_php's names the server's User
}
echo get_current_user(), ' ', posix_getpwuid(posix_geteuid())['name'], "\n";
?>
--EXPECT--
bool(true)
bool(true)
itkp-alice itkp-alice
