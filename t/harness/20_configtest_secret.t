# SPDX-License-Identifier: Apache-2.0
# apachectl configtest refuses an internal API secret shorter than 32
# characters, given inline or in a file, with a message that names the
# directive and the minimum; 32 characters pass.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Httpd ();

my $MESSAGE = qr/at least 32 characters/;

sub configtest_with {
    my ($directive, $value, %o) = @_;
    my $h = SlotRecovery::Httpd->new;
    my $arg = $value;
    if ($o{file}) {
        $arg = $h->write_file('secret', "$value\n");
    }
    $h->{body} = "SlotRecoveryInternalSecret" . ($o{file} ? 'File' : '') . " $arg\n";
    $h->write_conf;
    return $h->configtest;
}

for my $file (0, 1) {
    my $d = 'SlotRecoveryInternalSecret' . ($file ? 'File' : '');
    my ($ok, $out) = configtest_with($d, 'x' x 31, file => $file);
    ok !$ok, "$d with 31 characters: configtest fails";
    like $out, qr/\Q$d\E.*$MESSAGE/, "... saying $d must be at least 32 characters" or diag $out;

    ($ok, $out) = configtest_with($d, 'abcdefgh' x 4, file => $file);
    ok $ok, "$d with 32 characters: Syntax OK" or diag $out;
    unlike $out, $MESSAGE, '... no complaint about the secret';
}

# White space inside stays refused, however long.
my ($ok, $out) = configtest_with('SlotRecoveryInternalSecretFile', ('a' x 20) . ' ' . ('b' x 20), file => 1);
ok !$ok, 'a secret with a space: configtest fails';
like $out, qr/white space/, '... saying why' or diag $out;

done_testing();
