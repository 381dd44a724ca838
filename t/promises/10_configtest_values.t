# SPDX-License-Identifier: Apache-2.0
# README, Directives: "A malformed value is refused by `apachectl configtest`."
# Every directive of sr_config.c's table, with each kind of bad value it can
# get (not a number, out of range, not a URL, a path, credentials, white space,
# a missing or unreadable file ...): `apache2 -t` fails with a message that
# names the directive. A configuration with a good value for every directive
# passes, so the refusals are the values' doing.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Httpd ();

my $h = SlotRecovery::Httpd->new;
my $dir = $h->dir;
my $missing = "$dir/no-such-file";
my $empty = $h->write_file('empty', "\n");
my $short_secret = $h->write_file('short-secret', ('x' x 31) . "\n");
my $spaced_secret = $h->write_file('spaced-secret', ('a' x 20) . ' ' . ('b' x 20) . "\n");
my $pk_key = $h->write_file('pk-key', "pk_test_0123456789\n");
my $plain_secret = $h->write_file('plain-secret', "not-a-whsec-secret\n");
my $big = $h->write_file('big', ('a' x 5000) . "\n");
my $good_secret = $h->write_file('good-secret', ('s' x 40) . "\n");
my $good_token = $h->write_file('good-token', "token0123456789\n");
my $good_key = $h->write_file('good-key', "sk_test_0123456789\n");
my $good_whsec = $h->write_file('good-whsec', "whsec_0123456789\n");
mkdir "$dir/assets";

# A directory where a file is wanted: open succeeds, read fails (root reads
# any file, so a mode-000 file would not be unreadable when the suite is root).
my $a_dir = "$dir/assets";

my $SID = 'AC' . ('0123456789abcdef' x 2);

my %good = (
    SlotRecoveryInternalSecret          => 'x' x 32,
    SlotRecoveryInternalSecretFile      => $good_secret,
    SlotRecoveryPublicBaseUrl           => 'https://shop.example:8443',
    SlotRecoveryTwilioAccountSid        => $SID,
    SlotRecoveryTwilioAuthToken         => 'token0123456789',
    SlotRecoveryTwilioAuthTokenFile     => $good_token,
    SlotRecoveryTwilioApiBase           => 'http://127.0.0.1:9/twilio',
    SlotRecoveryStripeSecretKey         => 'rk_test_0123456789',
    SlotRecoveryStripeSecretKeyFile     => $good_key,
    SlotRecoveryStripeWebhookSecret     => 'whsec_0123456789',
    SlotRecoveryStripeWebhookSecretFile => $good_whsec,
    SlotRecoveryStripeApiBase           => 'https://api.stripe.com',
    SlotRecoveryAssetsDir               => "$dir/assets",
    SlotRecoveryMaxBody                 => 1024,
    SlotRecoverySweepInterval           => 3600,
    SlotRecoveryWorkerInterval          => 3600,
    SlotRecoveryOfferMaxAttempts        => 20,
    SlotRecoveryOfferCutoff             => 0,
    SlotRecoveryOfferRetryDelay         => 1,
    SlotRecoveryPaymentMaxAttempts      => 1,
    SlotRecoveryHttpTimeout             => 120,
    SlotRecoveryStripeWebhookTolerance  => 86400,
    SlotRecoveryCsrfLifetime            => 604800,
);

# name => [min, max] of the numeric directives (README's table and sr_config.c).
my %range = (
    SlotRecoveryMaxBody                => [1024, 67108864],
    SlotRecoverySweepInterval          => [1, 3600],
    SlotRecoveryWorkerInterval         => [1, 3600],
    SlotRecoveryOfferMaxAttempts       => [1, 20],
    SlotRecoveryOfferCutoff            => [0, 604800],
    SlotRecoveryOfferRetryDelay        => [1, 3600],
    SlotRecoveryPaymentMaxAttempts     => [1, 20],
    SlotRecoveryHttpTimeout            => [1, 120],
    SlotRecoveryStripeWebhookTolerance => [1, 86400],
    SlotRecoveryCsrfLifetime           => [60, 604800],
);

my @url_bad = ('"shop.example"', '"/relative/path"', '"ftp://shop.example"', '"https://"',
    '"https://user:pw@shop.example"', '"https://shop.example/?q=1"', '"https://shop.example/#f"',
    '"https://shop example"', '""');

my %bad = (
    SlotRecoveryInternalSecret => ['x' x 31, '"' . ('a' x 20) . ' ' . ('b' x 20) . '"', '""',
        '"' . ('a' x 40) . "\t" . 'b"'],
    SlotRecoveryInternalSecretFile => [$missing, $a_dir, $empty, $short_secret, $spaced_secret, $big],
    SlotRecoveryPublicBaseUrl => [@url_bad, '"https://shop.example/app"', '"https://shop.example/api/"'],
    SlotRecoveryTwilioAccountSid => ['AC123', 'XX' . ('0' x 32), 'AC' . ('0' x 31) . '!', 'AC' . ('0' x 33),
        '""', '"AC' . ('0' x 15) . ' ' . ('0' x 16) . '"'],
    SlotRecoveryTwilioAuthToken => ['""', '"tok en"'],
    SlotRecoveryTwilioAuthTokenFile => [$missing, $a_dir, $empty, $spaced_secret],
    SlotRecoveryTwilioApiBase => \@url_bad,
    SlotRecoveryStripeSecretKey => ['pk_test_0123', 'sk', '""', '"sk_test_01 23"'],
    SlotRecoveryStripeSecretKeyFile => [$missing, $a_dir, $empty, $pk_key],
    SlotRecoveryStripeWebhookSecret => ['secret', '"whsec_01 23"', '""'],
    SlotRecoveryStripeWebhookSecretFile => [$missing, $a_dir, $empty, $plain_secret],
    SlotRecoveryStripeApiBase => \@url_bad,
    SlotRecoveryAssetsDir => [$missing, $empty],
);
for my $name (keys %range) {
    my ($min, $max) = @{ $range{$name} };
    $bad{$name} = ['abc', '""', '-1', '1.5', '10s', '0x10', '"1 0"', '+5', $min - 1, $max + 1,
        '99999999999999999999999'];
    # 0 is in range for the cutoff; -1 stands for "below" there.
    $bad{$name} = [grep { $_ ne ($min - 1) || $min > 0 } @{ $bad{$name} }] if $min == 0;
}

is_deeply [sort keys %bad], [sort keys %good], 'every directive has good and bad values here';

# The table in the source is the list to cover: a directive added to
# sr_config.c without a case here fails this test.
my $src = SlotRecovery::TestEnv::top_dir() . '/mod_slotrecovery/httpd/sr_config.c';
open my $fh, '<', $src or die "$src: $!";
my @in_source = sort grep { $_ } map { /^\s*(?:SR_\w+_DIRECTIVE|AP_INIT_\w+)\("(\w+)"/ ? $1 : undef } <$fh>;
close $fh;
is_deeply \@in_source, [sort keys %good], "the directives of sr_config.c's table are the ones tested";

sub configtest {
    my ($body) = @_;
    $h->{body} = $body;
    $h->write_conf;
    return $h->configtest;
}

{
    my $body = join '', map { "$_ $good{$_}\n" } sort keys %good;
    my ($ok, $out) = configtest($body);
    ok $ok, 'a good value for every directive: Syntax OK' or diag $out;
}

# Also in a <VirtualHost>: the same checks, merged per virtual host.
for my $name (sort keys %bad) {
    for my $value (@{ $bad{$name} }) {
        my $shown = $value =~ s/^\Q$dir\E/DIR/r;
        $shown = substr($shown, 0, 50) . '...' if length $shown > 60;
        my ($ok, $out) = configtest("$name $value\n");
        ok !$ok, "$name $shown: configtest fails";
        like $out, qr/\Q$name\E\b/, '... naming the directive' or diag $out;
        unlike $out, qr/Invalid command|Segmentation|core dumped/, '... as a refused value' or diag $out;
    }
}

# Inside a <VirtualHost> as well, and never in a <Directory> / <Location>.
{
    my ($ok, $out) = configtest("<VirtualHost 127.0.0.1:1>\nSlotRecoveryHttpTimeout 121\n</VirtualHost>\n");
    ok !$ok, 'a bad value inside a <VirtualHost>: configtest fails';
    like $out, qr/SlotRecoveryHttpTimeout/, '... naming the directive' or diag $out;
    ($ok, $out) = configtest("<Location /x>\nSlotRecoveryHttpTimeout 10\n</Location>\n");
    ok !$ok, 'a directive inside <Location>: configtest fails';
    like $out, qr/SlotRecoveryHttpTimeout/, '... naming it' or diag $out;
}

# Bounds themselves are accepted (the refusals above are off by one, not off by many).
for my $name (sort keys %range) {
    for my $v (@{ $range{$name} }) {
        my ($ok, $out) = configtest("$name $v\n");
        ok $ok, "$name $v (a bound): Syntax OK" or diag $out;
    }
}

# A trailing slash is not an error: it is dropped (README: "Scheme, host and port").
for my $name (qw(SlotRecoveryPublicBaseUrl SlotRecoveryTwilioApiBase SlotRecoveryStripeApiBase)) {
    my ($ok, $out) = configtest("$name https://shop.example/\n");
    ok $ok, "$name with a trailing slash: Syntax OK" or diag $out;
}

done_testing();
