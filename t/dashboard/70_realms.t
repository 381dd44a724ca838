# SPDX-License-Identifier: Apache-2.0
# Dashboard logins are scoped to where they authenticated: the virtual host's
# ServerName plus the AuthName. Two <Location>s with their own AuthUserFile
# (/realm-a: "Realm A", /realm-b: "Realm B"), each with a user "admin",
# granted to two shops: each admin sees only its own shop (shop_users.username
# was global: both saw one shop, the second grant was a 409). The grant API
# takes "realm" (an AuthName; default "*": any on that server) and
# "serverName" (default: the ServerName of the vhost the API call reaches) and
# answers the scope it granted; an exact realm wins over "*"; a grant with only
# a username (as before) still works, and so does a row from before migration
# 009 (server "*", realm "*"). Migration 009 turns existing rows into "*"/"*".
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use FindBin ();
use MIME::Base64 ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::TestEnv ();
use SlotRecovery::Dashboard qw(auth page tree text cancel_api iso_at);

plan tests => 61;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $SERVER = lc Apache::Test::vars('servername');

sub basic { +{ Authorization => 'Basic ' . MIME::Base64::encode_base64("$_[0]:$_[1]", '') } }

# GET as $user with $password (default "secret"), on the main server or vhost $host.
sub dash {
    my ($user, $path, %o) = @_;
    Apache::TestRequest::module($o{host} // 'default');
    my $r = page(undef, $path, headers => basic($user, $o{password} // 'secret'));
    Apache::TestRequest::module('default');
    return $r;
}

# The shop name in the page's header bar (undef: no page of a shop).
sub shop_shown {
    my ($r) = @_;
    return undef unless $r->status == 200;
    my $t = tree($r);
    my $name = text($t->look_down(_tag => 'span', class => 'shop'));
    $t->delete;
    return $name;
}

sub grant_api {
    my ($shop_id, $body, %o) = @_;
    Apache::TestRequest::module($o{host} // 'default');
    my $r = api(POST => "/api/shops/$shop_id/users", $body);
    Apache::TestRequest::module('default');
    return $r;
}

reset_all();
my %shop;
my $n = 0;
$shop{$_} = make_shop(name => "$_ Salon", smsFrom => sprintf('+1500555070%d', ++$n)) for qw(A B C D E F G H);

# --- two realms, one user name ----------------------------------------------------------
{
    my $r = grant_api($shop{A}{id}, { username => 'admin', realm => 'Realm A' });
    is $r->status, 201, 'grant admin in "Realm A" to shop A: 201' or diag $r->dump;
    is_deeply $r->json, { username => 'admin', shopId => "$shop{A}{id}", serverName => $SERVER, realm => 'Realm A' },
        '... the answer says the scope: this server\'s ServerName, realm "Realm A"';
    $r = grant_api($shop{B}{id}, { username => 'admin', realm => 'Realm B' });
    is $r->status, 201, 'grant admin in "Realm B" to shop B: 201' or diag $r->dump;
    is_deeply $r->json, { username => 'admin', shopId => "$shop{B}{id}", serverName => $SERVER, realm => 'Realm B' },
        '... scope: realm "Realm B"';
    is_deeply db_rows(q{SELECT server_name, realm, shop_id FROM shop_users WHERE username = 'admin' ORDER BY realm}),
        [ { server_name => $SERVER, realm => 'Realm A', shop_id => $shop{A}{id} },
          { server_name => $SERVER, realm => 'Realm B', shop_id => $shop{B}{id} } ], '... two rows in shop_users';

    is shop_shown(dash(admin => '/realm-a/app/appointments')), 'A Salon', 'admin of Realm A sees shop A';
    is shop_shown(dash(admin => '/realm-b/app/appointments', password => 'secret-b')), 'B Salon',
        'admin of Realm B sees shop B';
    is dash(admin => '/realm-b/app/appointments')->status, 401, 'Realm A\'s password in Realm B: 401 (httpd)';
    my $p = dash(admin => '/app/appointments');
    is $p->status, 403, 'admin in the realm of /app ("Slot recovery"), granted nowhere there: 403' or diag $p->dump;
    like $p->{html}, qr/no shop/i, '... "This user has no shop"';

    # Ids of the other realm's shop read like ids that do not exist.
    my $cust = make_customer($shop{B}{id}, smsOptIn => json_false());
    my $appt = make_appointment($shop{B}{id}, $cust->{id});
    my $slot = cancel_api($appt->{id});
    is dash(admin => "/realm-b/app/slot-openings/$slot", password => 'secret-b')->status, 200,
        'Realm B\'s admin opens shop B\'s slot opening';
    is dash(admin => "/realm-a/app/slot-openings/$slot")->status, 404, 'Realm A\'s admin: 404';
    is dash(admin => "/realm-a/app/appointments/$appt->{id}")->status, 404, '... and 404 for its appointment';
    my $csv = dash(admin => '/realm-a/app/slot-openings.csv');
    is $csv->status, 200, 'Realm A\'s CSV: 200';
    unlike $csv->body, qr/^$slot,/m, '... without shop B\'s slot opening';

    $r = grant_api($shop{A}{id}, { username => 'admin', realm => 'Realm A' });
    is $r->status, 201, 'the same grant again: 201 (idempotent)' or diag $r->dump;
    $r = grant_api($shop{B}{id}, { username => 'admin', realm => 'Realm A' });
    is $r->status, 409, 'admin in Realm A to another shop: 409' or diag $r->dump;
    like $r->json->{error} // '', qr/scope|realm/i, '... saying it is about that scope';
    is db_row(q{SELECT shop_id FROM shop_users WHERE username = 'admin' AND realm = 'Realm A'})->{shop_id},
        $shop{A}{id}, '... still shop A';
}

# --- a grant with only a username: any realm on this server -------------------------------
{
    my $r = grant_api($shop{C}{id}, { username => 'owner1' });
    is $r->status, 201, 'grant owner1 with only a username: 201' or diag $r->dump;
    is_deeply $r->json, { username => 'owner1', shopId => "$shop{C}{id}", serverName => $SERVER, realm => '*' },
        '... scope: this server, realm "*"';
    is shop_shown(dash(owner1 => '/app/appointments')), 'C Salon', 'owner1 sees shop C under /app';
    is shop_shown(dash(owner1 => '/realm-a/app/appointments')), 'C Salon', '... and under /realm-a';
    is shop_shown(dash(owner1 => '/realm-b/app/appointments', password => 'secret-b')), 'C Salon',
        '... and under /realm-b (another user file, same name: "*" is any realm on the server)';

    # An exact realm wins over "*".
    $r = grant_api($shop{D}{id}, { username => 'owner1', realm => 'Realm B' });
    is $r->status, 201, 'owner1 in Realm B to shop D: 201 (another scope than "*")' or diag $r->dump;
    is shop_shown(dash(owner1 => '/realm-b/app/appointments', password => 'secret-b')), 'D Salon',
        '... Realm B now shows shop D: the exact realm wins';
    is shop_shown(dash(owner1 => '/realm-a/app/appointments')), 'C Salon', '... Realm A still shop C ("*")';
    is shop_shown(dash(owner1 => '/app/appointments')), 'C Salon', '... /app still shop C';
}

# --- a row from before the migration: any server, any realm ----------------------------------
{
    db_do('INSERT INTO shop_users (username, shop_id) VALUES (?, ?)', 'owner2', $shop{E}{id});
    is_deeply db_row(q{SELECT server_name, realm FROM shop_users WHERE username = 'owner2'}),
        { server_name => '*', realm => '*' }, 'a row with only username and shop: server "*", realm "*"';
    is shop_shown(dash(owner2 => '/app/appointments')), 'E Salon', 'owner2 sees shop E under /app';
    is shop_shown(dash(owner2 => '/realm-a/app/appointments')), 'E Salon', '... under /realm-a';
    is shop_shown(dash(owner2 => '/app/appointments', host => 'sr_named')), 'E Salon',
        '... and on another virtual host';
    my $r = grant_api($shop{F}{id}, { username => 'owner2', realm => 'Realm A' });
    is $r->status, 201, 'owner2 in Realm A to shop F: 201' or diag $r->dump;
    is shop_shown(dash(owner2 => '/realm-a/app/appointments')), 'F Salon', '... the scoped grant wins in Realm A';
    is shop_shown(dash(owner2 => '/app/appointments')), 'E Salon', '... the old row elsewhere';
}

# --- the server name ---------------------------------------------------------------------------
{
    # Through the API of the vhost sr_named (ServerName Realm.Test).
    my $r = grant_api($shop{G}{id}, { username => 'stranger', realm => 'Slot recovery' }, host => 'sr_named');
    is $r->status, 201, 'grant stranger through the vhost "Realm.Test": 201' or diag $r->dump;
    is $r->json->{serverName}, 'realm.test', '... serverName: that vhost\'s ServerName (lower case)';
    is shop_shown(dash(stranger => '/app/appointments', host => 'sr_named')), 'G Salon', '... stranger sees G there';
    is dash(stranger => '/app/appointments')->status, 403, '... and nothing on the main server';

    $r = grant_api($shop{H}{id}, { username => 'stranger', serverName => 'Other.Example', realm => 'Slot recovery' });
    is $r->status, 201, 'serverName given: 201' or diag $r->dump;
    is_deeply $r->json, { username => 'stranger', shopId => "$shop{H}{id}", serverName => 'other.example',
        realm => 'Slot recovery' }, '... that scope (lower case)';
    is dash(stranger => '/app/appointments')->status, 403, '... not this server';
    $r = grant_api($shop{H}{id}, { username => 'stranger', serverName => '*' });
    is $r->status, 201, 'serverName "*" (any server, any realm): 201' or diag $r->dump;
    is_deeply [ @{ $r->json }{qw(serverName realm)} ], [ '*', '*' ], '... scope */*';
    is shop_shown(dash(stranger => '/app/appointments')), 'H Salon', '... stranger sees H on the main server';
    is shop_shown(dash(stranger => '/app/appointments', host => 'sr_named')), 'G Salon',
        '... and still G on Realm.Test, where an exact server name wins';
}

# --- bad input: 400, nothing stored ---------------------------------------------------------
{
    my $before = db_count('shop_users');
    for my $case ([ 'an empty realm', { realm => '' } ],
                  [ 'a realm with a control character', { realm => "Realm\tA" } ],
                  [ 'a realm of 256 characters', { realm => 'r' x 256 } ],
                  [ 'a realm that is not a string', { realm => 5 } ],
                  [ 'an empty serverName', { serverName => '' } ],
                  [ 'a serverName with a space', { serverName => 'a b' } ],
                  [ 'a serverName with a slash', { serverName => 'a/b' } ],
                  [ 'a serverName with a port', { serverName => 'shop.example:8080' } ],
                  [ 'a serverName of 256 characters', { serverName => 'a' x 256 } ],
                  [ 'a serverName that is not a string', { serverName => json_true() } ]) {
        my ($what, $extra) = @$case;
        my $r = grant_api($shop{A}{id}, { username => 'nobody', %$extra });
        is $r->status, 400, "$what: 400" or diag $r->dump;
    }
    is db_count('shop_users'), $before, '... nothing stored';
    is db_count(q{shop_users WHERE username = 'nobody'}), 0, '... no row for that user';
}

# --- migration 009 on rows that existed before it -------------------------------------------
{
    my $db = 'sr_mig009_' . $$;
    db_do("CREATE DATABASE $db");
    my $ok = eval {
        my $dbh = DBI->connect(sprintf('dbi:Pg:dbname=%s;host=%s;port=%s', $db,
            map { SlotRecovery::TestEnv::get($_) } qw(SR_PG_HOST SR_PG_PORT)),
            SlotRecovery::TestEnv::get('SR_PG_USER'), '', { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
        my $dir = "$FindBin::Bin/../../sql";
        my $slurp = sub { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> };
        $dbh->do($slurp->("$dir/schema.sql"));
        my @files = sort glob "$dir/migrations/[0-9][0-9][0-9]_*.sql";
        my ($m009) = grep { m{/009_[^/]*$} } @files;
        ok $m009, 'migration 009 is there';
        $dbh->do($slurp->($_)) for grep { (m{/(\d{3})_[^/]*$})[0] < 9 } @files;
        $dbh->do(q{INSERT INTO shops (name, timezone, sms_from, deposit_amount, currency)
                   VALUES ('Old', 'UTC', '+15005550999', 0, 'usd')});
        $dbh->do(q{INSERT INTO shop_users (username, shop_id) SELECT 'old-owner', id FROM shops});
        $dbh->do($slurp->($m009));
        is_deeply $dbh->selectrow_hashref(q{SELECT username, server_name, realm FROM shop_users}),
            { username => 'old-owner', server_name => '*', realm => '*' }, '009: an existing row becomes server "*", realm "*"';
        my ($pk) = $dbh->selectrow_array(q{SELECT pg_get_constraintdef(oid) FROM pg_constraint
                                           WHERE conrelid = 'shop_users'::regclass AND contype = 'p'});
        like $pk, qr/PRIMARY KEY \(username, server_name, realm\)/, '... the primary key is the scope plus the username';
        $dbh->disconnect;
        1;
    };
    diag "migration check: $@" unless $ok;
    db_do("DROP DATABASE IF EXISTS $db WITH (FORCE)");
}
