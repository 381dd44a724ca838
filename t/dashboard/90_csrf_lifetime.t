# SPDX-License-Identifier: Apache-2.0
# The dashboard's CSRF token has a lifetime and a key of its own. A token is
# "<issued>.<MAC>": the time it was made (seconds since the epoch) and
# HMAC-SHA256, keyed with installation.csrf_key (migration 005), over the
# login's scope (server name, realm), the user, the shop and that time. It is
# refused (403, nothing changes) when older than SlotRecoveryCsrfLifetime
# (default 8 hours; 600 s on the vhost sr_named), from the future (more than a
# minute ahead), made for another realm, or signed the old way (with the
# internal API secret, which tokens were keyed with and which never expired).
# Tokens are forged here with the key read from the database.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use Digest::SHA qw(hmac_sha256_hex);
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page tree grant post_form iso_at);

plan tests => 51;

reset_all();

my $SERVER = lc Apache::Test::vars('servername');
my $shop = make_shop(name => 'Token Parlour', smsFrom => '+15005550901');
grant($shop->{id}, 'owner1');    # this server, any realm
Apache::TestRequest::module('sr_named');
my $g = api(POST => "/api/shops/$shop->{id}/users", { username => 'owner1' });
Apache::TestRequest::module('default');
is $g->status, 201, 'owner1 granted on the vhost Realm.Test too' or diag $g->dump;

my $canc = make_customer($shop->{id}, name => 'Cora Cancel', smsOptIn => json_false());
my $day = floor(time / 86400) * 86400;
my @appt = map { make_appointment($shop->{id}, $canc->{id}, startsAt => iso_at($day + ($_ + 2) * 86400 + 50000),
    endsAt => iso_at($day + ($_ + 2) * 86400 + 51800)) } 0 .. 9;

my $key = db_row('SELECT csrf_key FROM installation')->{csrf_key};
like $key, qr/^[0-9a-f]{64}$/, 'installation.csrf_key is there (64 hex)';

# A token as the module makes it.
sub forge {
    my (%o) = @_;
    my %f = (server => $SERVER, realm => 'Slot recovery', user => 'owner1', shop => $shop->{id}, issued => time,
        key => $key, %o);
    my $data = 'csrf-v2|' . join('|', map { length($_) . ":$_" } @f{qw(server realm user)}) . "|$f{shop}|$f{issued}";
    return "$f{issued}." . hmac_sha256_hex($data, $f{key});
}

sub status_of { db_row('SELECT status FROM appointments WHERE id = ?', $_[0]{id})->{status} }

sub cancel {
    my ($appt, $token, %o) = @_;
    Apache::TestRequest::module($o{host} // 'default');
    my $r = post_form(owner1 => ($o{prefix} // '') . "/app/appointments/$appt->{id}/cancel", { csrf => $token });
    Apache::TestRequest::module('default');
    return $r;
}

sub refused {
    my ($appt, $token, $what, %o) = @_;
    my $r = cancel($appt, $token, %o);
    is $r->status, 403, "$what: 403" or diag $r->dump;
    is status_of($appt), 'booked', '... still booked';
    return $r;
}

sub accepted {
    my ($appt, $token, $what, %o) = @_;
    my $r = cancel($appt, $token, %o);
    is $r->status, 303, "$what: 303" or diag $r->dump;
    is status_of($appt), 'cancelled', '... cancelled';
}

my $LIFE = 8 * 3600;

# --- the page's token, and one forged with the database's key -----------------------------
{
    my $t = tree(page(owner1 => '/app/appointments'));
    my $form = $t->look_down(_tag => 'form', action => "/app/appointments/$appt[0]{id}/cancel");
    my $tok = $form->look_down(name => 'csrf')->attr('value');
    $t->delete;
    like $tok, qr/^(\d+)\.[0-9a-f]{64}$/, 'the page\'s token: <issued>.<MAC>';
    my ($issued) = $tok =~ /^(\d+)\./;
    ok abs($issued - time) <= 5, '... issued now';
    is $tok, forge(issued => $issued), '... exactly the MAC made with installation.csrf_key';
    accepted($appt[0], $tok, 'the page\'s token');
    accepted($appt[1], forge(), 'a token forged now with the key from the database');
}

# --- the lifetime ---------------------------------------------------------------------------
{
    my $r = refused($appt[2], forge(issued => time - $LIFE - 60), 'a token 8 hours and a minute old');
    like $r->{html}, qr/has expired/, '... the page says the form has expired';
    open my $log, '<', Apache::Test::vars('t_logs') . '/error_log' or die "error_log: $!";
    ok scalar(grep { m{mod_slotrecovery: POST /app/appointments/$appt[2]{id}/cancel: 403 The form has expired} } <$log>),
        '... and so does the log';
    accepted($appt[2], forge(issued => time - $LIFE + 120), 'a token 2 minutes short of 8 hours old');
    refused($appt[3], forge(issued => time + 3600), 'a token from an hour in the future');
    refused($appt[3], forge(issued => time + 300), 'a token from 5 minutes in the future');
    accepted($appt[3], forge(issued => time + 20), 'a token 20 s ahead (another server\'s clock)');
}

# --- another key, another scope ---------------------------------------------------------------
{
    my $secret = secret();
    refused($appt[4], hmac_sha256_hex("csrf|owner1|$shop->{id}", $secret),
        'today\'s token (HMAC with the internal secret, no time)');
    refused($appt[4], forge(key => $secret), 'the new format signed with the internal secret');
    refused($appt[4], forge(realm => 'Realm A'), 'a token for realm "Realm A" posted under /app');
    my $t = tree(page(owner1 => '/realm-a/app/appointments'));
    my $tok = $t->look_down(_tag => 'input', name => 'csrf')->attr('value');
    $t->delete;
    refused($appt[4], $tok, 'the token of the /realm-a page posted under /app');
    accepted($appt[4], $tok, '... posted under /realm-a', prefix => '/realm-a');
    refused($appt[5], forge(user => 'owner2'), 'owner2\'s token');
    refused($appt[5], forge(shop => $shop->{id} + 1000), 'a token for another shop');
    for my $bad ('123', '.' . substr(forge(), 11), 'abc.' . substr(forge(), 11),
                 '99999999999999.' . substr(forge(), 11), forge() . 'x') {
        my $r = cancel($appt[5], $bad);
        is $r->status, 403, "malformed token '" . substr($bad, 0, 20) . "...': 403" or diag $r->dump;
    }
    is status_of($appt[5]), 'booked', '... still booked';
}

# --- SlotRecoveryCsrfLifetime 600 on the vhost Realm.Test ---------------------------------------
{
    my %named = (host => 'sr_named');
    refused($appt[6], forge(server => 'realm.test', issued => time - 700),
        'Realm.Test (SlotRecoveryCsrfLifetime 600): a token 700 s old', %named);
    accepted($appt[6], forge(server => 'realm.test', issued => time - 500), '... one 500 s old', %named);
    refused($appt[7], forge(issued => time - 500), '... a token of the main server', %named);
}

# --- the key is the database's: a new one makes old tokens void -------------------------------
{
    my $old = forge();
    my $new_key = join '', map { sprintf '%x', int rand 16 } 1 .. 64;
    db_do('UPDATE installation SET csrf_key = ?', $new_key);
    refused($appt[8], $old, 'after the key changed, a token made with the old one');
    accepted($appt[8], forge(key => $new_key), '... one made with the new key');
    db_do('UPDATE installation SET csrf_key = ?', $key);
}
