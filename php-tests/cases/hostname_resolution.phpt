--TEST--
Name resolution works after the identity switch (the seed comment's first report)
--FILE--
<?php
var_dump(gethostbyname('localhost'));
var_dump(is_string(gethostname()) && gethostname() !== '');
var_dump(count(dns_get_record('localhost', DNS_A) ?: [1]) > 0);
?>
--EXPECT--
string(9) "127.0.0.1"
bool(true)
bool(true)
