<?php
// Shows who this request runs as, in the form `id` prints it, and which vhost
// served it: under itkgw each vhost's PHP runs as that vhost's own user.

function uid_label(int $uid): string
{
    $entry = posix_getpwuid($uid);
    return $entry === false ? (string) $uid : sprintf('%d(%s)', $uid, $entry['name']);
}

function gid_label(int $gid): string
{
    $entry = posix_getgrgid($gid);
    return $entry === false ? (string) $gid : sprintf('%d(%s)', $gid, $entry['name']);
}

// Like id(1): the effective group first, then the other supplementary groups.
$gid = posix_getegid();
$groups = array_unique(array_merge([$gid], posix_getgroups()));

header('Content-Type: text/plain; charset=utf-8');
printf("uid=%s gid=%s groups=%s\n",
    uid_label(posix_geteuid()), gid_label($gid), implode(',', array_map('gid_label', $groups)));
printf("vhost=%s\n", $_SERVER['SERVER_NAME'] ?? '');
