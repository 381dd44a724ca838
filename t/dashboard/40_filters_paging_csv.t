# SPDX-License-Identifier: Apache-2.0
# The Slot Recovery list's filters (status, from, to: the slot's date in the
# shop's time zone), its figures for the chosen dates, paging (25 slot
# openings: 20 on a page, "Older →" / "← Newer", filters kept in the links),
# bad filter values (400), and the CSV export: same filters, every row (not a
# page), RFC 4180 quoting and no cell a spreadsheet would run as a formula.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Encode ();
use POSIX ();
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(page tree text badge rows links figures local_time iso_at grant cancel_api);

plan tests => 94;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

# Los Angeles: a slot at 23:30 there is on the next day in UTC.
my $TZ = 'America/Los_Angeles';

reset_all();

my $shop = make_shop(name => 'Filter Studio', timezone => $TZ, smsFrom => '+15005550401');
grant($shop->{id}, 'owner1');

# Three local dates, 10 to 12 days ahead.
my ($D1, $D2, $D3) = map { local_time(time + $_ * 86400, '%Y-%m-%d', $TZ) } 10, 11, 12;
sub at { my ($date, $hm) = @_; local_epoch("$date $hm") }

# 25 slot openings, oldest first (slot 1 created first ... slot 25 last):
#   1  D1 23:30 filled by =HYPERLINK("x") in 60 s, deposit succeeded
#   2  D2 00:15 filled by -2+3 in 300 s, deposit succeeded
#   3  D2 12:00 filled by Smith, "Jr" in 7200 s, deposit failed
#   4  D2 13:00 filled by @SUM(A1) in 90 s, no payment
#   5  D2 14:00 open
#   6  D3 08:00 filled by +1 plus in 120 s, deposit succeeded
#   7  D3 08:30 filled by <TAB>Tabby in 30 s
#   8  D3 09:00 filled by Line<LF>Break in 45 s
#   9-16        expired       17-25  open          (D3, every 30 min)
my @spec = (
    [ "$D1 23:30", filled => '=HYPERLINK("x")', 60, 'succeeded' ],
    [ "$D2 00:15", filled => '-2+3', 300, 'succeeded' ],
    [ "$D2 12:00", filled => 'Smith, "Jr"', 7200, 'failed' ],
    [ "$D2 13:00", filled => '@SUM(A1)', 90, undef ],
    [ "$D2 14:00", 'open' ],
    [ "$D3 08:00", filled => '+1 plus', 120, 'succeeded' ],
    [ "$D3 08:30", filled => "\tTabby", 30, undef ],
    [ "$D3 09:00", filled => "Line\nBreak", 45, undef ],
);
for my $i (9 .. 25) {
    my $m = 9 * 60 + ($i - 9) * 30 + 30;
    push @spec, [ sprintf('%s %02d:%02d', $D3, int($m / 60), $m % 60), $i <= 16 ? 'expired' : 'open' ];
}

my $canceller = make_customer($shop->{id}, name => 'Carl Canceller', smsOptIn => json_false());
my $waiter = make_customer($shop->{id}, name => 'Wally Waiter', smsOptIn => json_false());
my (@slot, %name_of);    # $slot[$i] = slot opening id of spec $i (1-based)
my $phone = 5557774000;
for my $i (1 .. @spec) {
    my ($when, $status, $name, $fill, $pay) = @{ $spec[ $i - 1 ] };
    my $start = local_epoch($when);
    my $a = make_appointment($shop->{id}, $canceller->{id}, startsAt => iso_at($start), endsAt => iso_at($start + 1800));
    my $id = cancel_api($a->{id});    # nobody is eligible: the slot waits for a customer
    $slot[$i] = $id;
    # Created one minute apart, slot 25 newest.
    db_do(q{UPDATE slot_openings SET created_at = date_trunc('second', now()) - make_interval(mins => ?) WHERE id = ?},
        60 - $i, $id);
    if ($status eq 'expired') {
        # As its cutoff would.
        db_do(q{UPDATE slot_openings SET status = 'expired', expired_at = now(), expired_reason = 'no_eligible_customer'
                WHERE id = ?}, $id);
    }
    elsif ($status eq 'open') {
        db_do(q{UPDATE slot_openings SET status = 'open', expired_at = NULL, expired_reason = NULL, waiting_since = NULL
                WHERE id = ?}, $id);
        # A live offer keeps the sweep from expiring it again.
        db_do(q{INSERT INTO slot_offers (slot_opening_id, customer_id, status, sent_at, expires_at, attempts)
                VALUES (?, ?, 'sent', now(), now() + interval '1 hour', 1)}, $id, $waiter->{id});
    }
    elsif ($status eq 'filled') {
        my $api_name = $name =~ /[\t\n]/ ? "placeholder $i" : $name;
        my $c = make_customer($shop->{id}, name => $api_name, phone => '+1' . $phone++, smsOptIn => json_false());
        db_do('UPDATE customers SET name = ? WHERE id = ?', $name, $c->{id}) if $api_name ne $name;
        my $b = make_appointment($shop->{id}, $c->{id}, startsAt => iso_at($start), endsAt => iso_at($start + 1800));
        db_do(q{UPDATE appointments SET source_slot_opening_id = ?, status = 'confirmed' WHERE id = ?}, $id, $b->{id});
        db_do(q{UPDATE slot_openings SET status = 'filled', expired_at = NULL, expired_reason = NULL,
                       filled_by_appointment_id = ?, filled_at = created_at + make_interval(secs => ?) WHERE id = ?},
            $b->{id}, $fill, $id);
        db_do(q{INSERT INTO payments (appointment_id, amount, currency, status) VALUES (?, 2000, 'usd', ?)},
            $b->{id}, $pay) if $pay;
        $name_of{$i} = { name => $name, booking => $b->{id} };
    }
}
is db_count('slot_openings WHERE shop_id = ?', $shop->{id}), 25, 'setup: 25 slot openings';
is_deeply db_rows(q{SELECT status, count(*)::int AS n FROM slot_openings GROUP BY status ORDER BY status}),
    [ { status => 'expired', n => 8 }, { status => 'filled', n => 7 }, { status => 'open', n => 10 } ],
    'setup: 7 filled, 10 open, 8 expired';
my %created = map { $_ => db_row('SELECT extract(epoch FROM created_at)::bigint AS t FROM slot_openings WHERE id = ?',
    $slot[$_])->{t} } 1 .. 25;

# --- no filter: figures and the first page ----------------------------------------------
{
    my $r = page(owner1 => '/app/appointments');
    is $r->status, 200, 'no filter: 200' or diag $r->dump;
    my $t = tree($r);
    is_deeply figures($t), { 'Slots opened' => 25, Filled => 7, Expired => 8, 'Recovery rate' => '28%',
        'Median time to fill' => '1 min', 'Deposits collected' => '60.00 USD' },
        'figures: 25 opened, 7 filled, 8 expired, 28%, median 90 s = 1 min, 3 deposits succeeded = 60.00 USD';
    is_deeply [ detail_ids($t) ], [ map { $slot[$_] } reverse 6 .. 25 ], 'page 1: the 20 newest, newest first';
    is_deeply [ map { $_->attr('href') } links($t, qr/Older/) ], ['/app/appointments?status=&from=&to=&page=2'],
        '... an "Older →" link to page 2';
    is text((links($t, qr/Older/))[0]), 'Older →', '... reading "Older →"';
    is scalar(links($t, qr/Newer/)), 0, '... no "Newer" link';
    $t->delete;

    $r = page(owner1 => '/app/appointments?page=2');
    is $r->status, 200, 'page 2: 200' or diag $r->dump;
    $t = tree($r);
    is_deeply [ detail_ids($t) ], [ map { $slot[$_] } reverse 1 .. 5 ], '... the 5 oldest';
    is_deeply [ map { $_->attr('href') } links($t, qr/Newer/) ], ['/app/appointments?status=&from=&to=&page=1'],
        '... a "← Newer" link to page 1';
    is text((links($t, qr/Newer/))[0]), '← Newer', '... reading "← Newer"';
    is scalar(links($t, qr/Older/)), 0, '... no "Older" link';
    is figures($t)->{'Slots opened'}, 25, '... the figures do not depend on the page';
    my @rows = rows($t->look_down(_tag => 'table', class => 'slots'));
    is_deeply [ map { [ badge($_->[1]), text($_->[3]) ] } @rows ],
        [ [ 'open', '—' ], [ 'filled', 'View booking' ], [ 'filled', 'View booking' ], [ 'filled', 'View booking' ],
          [ 'filled', 'View booking' ] ], '... statuses and booking links';
    is_deeply [ map { ($_->[3]->look_down(_tag => 'a'))[0]->attr('href') } @rows[1 .. 4] ],
        [ map { "/app/appointments/$name_of{$_}{booking}" } 4, 3, 2, 1 ], '... "View booking" to each booking';
    is_deeply [ map { text($_->[0]) } @rows ],
        [ map { local_time(local_epoch($spec[ $_ - 1 ][0]), '%a %d %b %Y %H:%M', $TZ) . '–'
                . local_time(local_epoch($spec[ $_ - 1 ][0]) + 1800, '%H:%M', $TZ) } reverse 1 .. 5 ],
        '... slot times in shop time (D1 23:30 stays on D1)';
    $t->delete;

    $r = page(owner1 => '/app/appointments?page=3');
    is $r->status, 200, 'page 3: 200' or diag $r->dump;
    like $r->{html}, qr{No slot openings match}, '... "No slot openings match"';
    $r = page(owner1 => '/app/appointments?status=&from=&to=');
    is scalar(detail_ids(tree($r))), 20, 'empty filter fields mean "any"';
}

# --- filters --------------------------------------------------------------------------------
{
    my @cases = (
        [ 'status=open', [ 25, 24, 23, 22, 21, 20, 19, 18, 17, 5 ] ],
        [ 'status=filled', [ 8, 7, 6, 4, 3, 2, 1 ] ],
        [ 'status=expired', [ reverse 9 .. 16 ] ],
        [ "from=$D1&to=$D1", [1] ],
        [ "from=$D2&to=$D2", [ 5, 4, 3, 2 ] ],
        [ "to=$D1", [1] ],
        [ "from=$D2&to=$D3&status=filled", [ 8, 7, 6, 4, 3, 2 ] ],
        [ "from=$D2&to=$D2&status=open", [5] ],
        [ "from=$D3&to=$D3&status=expired", [ reverse 9 .. 16 ] ],
        [ "from=$D2&to=$D1", [] ],
    );
    for my $case (@cases) {
        my ($q, $want) = @$case;
        my $r = page(owner1 => "/app/appointments?$q");
        is $r->status, 200, "?$q: 200" or diag $r->dump;
        my $t = tree($r);
        is_deeply [ detail_ids($t) ], [ map { $slot[$_] } @$want ], '... ' . scalar(@$want) . ' slot openings';
        if (!@$want) {
            like $r->{html}, qr{No slot openings match}, '... "No slot openings match"';
        }
        $t->delete;
    }

    # The form keeps the filters; the CSV link carries them.
    my $r = page(owner1 => "/app/appointments?status=filled&from=$D2&to=$D2");
    my $t = tree($r);
    is $t->look_down(_tag => 'input', name => 'from')->attr('value'), $D2, 'the form keeps "from"';
    is $t->look_down(_tag => 'input', name => 'to')->attr('value'), $D2, '... "to"';
    is_deeply [ map { $_->as_text } $t->look_down(_tag => 'option', selected => qr/./) ], ['filled'], '... the status';
    is_deeply [ map { $_->attr('href') } links($t, qr/Export CSV/) ],
        ["/app/slot-openings.csv?status=filled&from=$D2&to=$D2"], '"Export CSV" carries the filters';
    # Figures follow the dates, not the status.
    is_deeply figures($t), { 'Slots opened' => 4, Filled => 3, Expired => 0, 'Recovery rate' => '75%',
        'Median time to fill' => '5 min', 'Deposits collected' => '20.00 USD' },
        "figures for $D2 only (whatever the status): 4 opened, 3 filled, 75%, median 300 s, 20.00 USD";
    $t->delete;

    $t = tree(page(owner1 => "/app/appointments?from=$D1&to=$D1"));
    is_deeply figures($t), { 'Slots opened' => 1, Filled => 1, Expired => 0, 'Recovery rate' => '100%',
        'Median time to fill' => '1 min', 'Deposits collected' => '20.00 USD' },
        "figures for $D1: the 23:30 slot (next day in UTC) counts on $D1";
    $t->delete;

    # Paging keeps the filters: from=D1 matches all 25.
    $t = tree(page(owner1 => "/app/appointments?from=$D1"));
    is_deeply [ map { $_->attr('href') } links($t, qr/Older/) ], ["/app/appointments?status=&from=$D1&to=&page=2"],
        '"Older →" keeps the filters';
    $t->delete;
    $t = tree(page(owner1 => "/app/appointments?from=$D1&page=2"));
    is_deeply [ detail_ids($t) ], [ map { $slot[$_] } reverse 1 .. 5 ], '... its page 2 has the 5 oldest';
    is_deeply [ map { $_->attr('href') } links($t, qr/Newer/) ], ["/app/appointments?status=&from=$D1&to=&page=1"],
        '... and "← Newer" keeps them too';
    $t->delete;
    # Exactly 20 matches: one page, no "Older".
    $t = tree(page(owner1 => "/app/appointments?from=$D3"));
    is scalar(detail_ids($t)), 20, "from=$D3: exactly 20";
    is scalar(links($t, qr/Older|Newer/)), 0, '... one page: no paging links';
    $t->delete;
}

# --- bad filter values: 400 -------------------------------------------------------------------
for my $q ('status=pending', 'status=OPEN', 'status=open,filled', 'from=2030-02-30', 'from=2030-1-01',
           'from=20300101', 'to=2030-01-01T00:00', 'from=tomorrow', 'to=2030-13-01', 'page=0', 'page=-1',
           'page=1.5', 'page=abc', 'page=100001', 'page=99999999999999999999') {
    my $r = page(owner1 => "/app/appointments?$q");
    is $r->status, 400, "?$q: 400" or diag $r->dump;
}
{
    my $r = page(owner1 => '/app/appointments?status=bogus');
    like $r->content_type, qr{^text/html}, 'the 400 is an HTML page';
    like $r->{html}, qr{status must be open, filled or expired}, '... saying what is wrong';
    is page(owner1 => '/app/slot-openings.csv?from=2030-02-30')->status, 400, 'CSV with a bad date: 400';
    is page(owner1 => '/app/slot-openings.csv?status=maybe')->status, 400, 'CSV with a bad status: 400';
}

# --- CSV ----------------------------------------------------------------------------------------
{
    my $r = page(owner1 => '/app/slot-openings.csv');
    is $r->status, 200, 'CSV: 200' or diag $r->dump;
    like $r->content_type, qr{^text/csv; charset=utf-8}, '... text/csv; charset=utf-8';
    like $r->header('Content-Disposition') // '', qr{^attachment; filename="slot-openings\.csv"$}, '... an attachment';
    my $body = Encode::decode('UTF-8', $r->body);
    like $body, qr/\r\n\z/, '... lines end with CRLF';
    my @rows = parse_csv($body);
    is_deeply $rows[0], [ 'Slot opening', 'Starts', 'Ends', 'Status', 'Created', 'Offers sent', 'Filled by', 'Booking',
        'Time to fill (s)', 'Deposit', 'Deposit status' ], '... the header row';
    is scalar(@rows), 26, '... and all 25 slot openings (not a page)';
    is_deeply [ map { $_->[0] } @rows[1 .. $#rows] ], [ map { $slot[$_] } reverse 1 .. 25 ], '... newest first';

    my %by = map { $_->[0] => $_ } @rows[1 .. $#rows];
    my $start1 = local_epoch($spec[0][0]);
    is_deeply $by{ $slot[1] }, [ $slot[1], "$D1 23:30", local_time($start1 + 1800, '%Y-%m-%d %H:%M', $TZ),
        'filled', local_time($created{1}, '%Y-%m-%d %H:%M', $TZ), '0', q{'=HYPERLINK("x")}, $name_of{1}{booking}, '60',
        '20.00 USD', 'succeeded' ], 'slot 1: every column; "=HYPERLINK" neutralised with a leading \'';
    is_deeply [ @{ $by{ $slot[5] } }[ 3, 5, 6, 7, 8, 9, 10 ] ], [ 'open', '1', '', '', '', '', '' ],
        'an open slot: 1 offer sent, empty cells for the rest';
    is_deeply [ @{ $by{ $slot[9] } }[ 3, 5, 6 ] ], [ 'expired', '0', '' ], 'an expired slot';

    my %filled_by = map { $_ => $by{ $slot[$_] }[6] } keys %name_of;
    is_deeply \%filled_by, {
        1 => q{'=HYPERLINK("x")}, 2 => q{'-2+3}, 3 => q{Smith, "Jr"}, 4 => q{'@SUM(A1)}, 6 => q{'+1 plus},
        7 => qq{'\tTabby}, 8 => qq{Line\nBreak},
    }, '"Filled by": = + - @ and TAB prefixed with \', the rest as they are';
    is_deeply { map { $_ => $by{ $slot[$_] }[8] } keys %name_of },
        { 1 => 60, 2 => 300, 3 => 7200, 4 => 90, 6 => 120, 7 => 30, 8 => 45 }, '"Time to fill (s)"';
    is_deeply { map { $_ => [ @{ $by{ $slot[$_] } }[ 9, 10 ] ] } 2, 3, 4 },
        { 2 => [ '20.00 USD', 'succeeded' ], 3 => [ '20.00 USD', 'failed' ], 4 => [ '', '' ] }, 'deposits';

    # The exact bytes of the tricky cells.
    like $body, qr{,"'=HYPERLINK\(""x""\)",}, 'raw: "\'=HYPERLINK(""x"")" (quoted, quotes doubled)';
    like $body, qr{,'-2\+3,}, "raw: '-2+3";
    like $body, qr{,"Smith, ""Jr""",}, 'raw: "Smith, ""Jr""" (comma and quotes)';
    like $body, qr{,'\@SUM\(A1\),}, "raw: '\@SUM(A1)";
    like $body, qr{,"Line\nBreak",}, 'raw: a line break inside quotes';
    my @lines_starting = grep { /^[=+\-@]/ } map { @$_ } @rows;
    is_deeply \@lines_starting, [], 'no cell starts with = + - @';

    # Filters.
    my $csv = sub {
        my @r = parse_csv(Encode::decode('UTF-8', page(owner1 => "/app/slot-openings.csv?$_[0]")->body));
        return [ map { $_->[0] } @r[1 .. $#r] ];
    };
    is_deeply [ @{ $csv->('status=filled') } ], [ map { $slot[$_] } 8, 7, 6, 4, 3, 2, 1 ],
        'CSV status=filled: the 7 filled';
    is_deeply [ @{ $csv->("from=$D1&to=$D1") } ], [ $slot[1] ], "CSV $D1: slot 1";
    is_deeply [ @{ $csv->("status=open&from=$D2&to=$D2") } ], [ $slot[5] ], "CSV open on $D2: slot 5";
    $r = page(owner1 => "/app/slot-openings.csv?from=$D2&to=$D1");
    is $r->body, "Slot opening,Starts,Ends,Status,Created,Offers sent,Filled by,Booking,Time to fill (s),Deposit,Deposit status\r\n",
        'CSV with no match: the header row only';
}

# helpers of this test only (the shared ones: SlotRecovery::Dashboard)

# The slot-opening ids of the "Details" links, in page order.
sub detail_ids {
    my ($t) = @_;
    return map { $_->attr('href') =~ m{/slot-openings/(\d+)$} ? $1 : () } links($t, qr/^Details$/);
}

# "YYYY-MM-DD HH:MM" in the shop's zone -> epoch.
sub local_epoch {
    my ($s) = @_;
    my ($y, $m, $d, $H, $M) = $s =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d)$/ or die "bad time $s";
    local $ENV{TZ} = $TZ;
    POSIX::tzset();
    my $e = POSIX::mktime(0, $M, $H, $d, $m - 1, $y - 1900, 0, 0, -1);
    POSIX::tzset();
    return $e;
}

# RFC 4180: quoted fields may hold "", commas and line breaks; records end in CRLF.
sub parse_csv {
    my ($s) = @_;
    my (@rows, @row);
    pos($s) = 0;
    while (pos($s) < length $s) {
        if ($s =~ /\G"((?:[^"]|"")*)"/gc) {
            (my $v = $1) =~ s/""/"/g;
            push @row, $v;
        }
        elsif ($s =~ /\G([^",\r\n]*)/gc) {
            push @row, $1;
        }
        if ($s =~ /\G,/gc) { next }
        if ($s =~ /\G\r\n/gc) { push @rows, [@row]; @row = (); next }
        die 'bad CSV at ' . pos($s) . ': ' . substr($s, pos($s), 20) if pos($s) < length $s;
    }
    push @rows, [@row] if @row;
    return @rows;
}
