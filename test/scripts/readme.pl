#!/usr/bin/perl
# readme.pl: the README half of test/scripts/readme.sh (which see).
#
#   readme.pl extract README WORK     every ```sql block of README, in order,
#                                     into WORK/script.sql (each after a marker
#                                     line), the ```text block that follows it
#                                     (if any) into WORK/expected/N, and
#                                     WORK/blocks: N, README line, has output
#   readme.pl compare README WORK     WORK/output (psql's output of
#                                     script.sql) block by block against
#                                     WORK/expected; exit 1 on a difference
#   readme.pl update README WORK      rewrites README's ```text blocks with
#                                     WORK/output (a block that prints
#                                     something gets one)
#   readme.pl reference README WORK   the Reference section against the
#                                     catalog dumps WORK/functions, settings,
#                                     columns, types; exit 1 on a difference
#
# Comparisons ignore trailing blanks on a line and blank lines at the end
# of a block; nothing else.
use strict;
use warnings;

my ($mode, $readme, $work) = @ARGV;
die "usage: readme.pl extract|compare|update|reference README WORK\n"
    unless $mode && $readme && $work;

open(my $fh, '<:encoding(UTF-8)', $readme) or die "cannot read $readme: $!\n";
my @lines = <$fh>;
close $fh;
chomp @lines;
binmode STDOUT, ':encoding(UTF-8)';

# The blocks: sql => {start, end (fence lines, 0-based), out_start, out_end}.
sub blocks {
    my @b;
    my $i = 0;
    while ($i < @lines) {
        if ($lines[$i] =~ /^```sql\s*$/) {
            my $start = $i;
            my $end = $start + 1;
            $end++ while $end < @lines && $lines[$end] !~ /^```\s*$/;
            die "README line " . ($start + 1) . ": ```sql block never closed\n" if $end >= @lines;
            my %blk = (start => $start, end => $end);
            my $j = $end + 1;
            $j++ while $j < @lines && $lines[$j] =~ /^\s*$/;
            if ($j < @lines && $lines[$j] =~ /^```text\s*$/) {
                my $k = $j + 1;
                $k++ while $k < @lines && $lines[$k] !~ /^```\s*$/;
                die "README line " . ($j + 1) . ": ```text block never closed\n" if $k >= @lines;
                @blk{qw(out_start out_end)} = ($j, $k);
                $i = $k + 1;
            } else {
                $i = $end + 1;
            }
            push @b, \%blk;
        } else {
            $i++;
        }
    }
    return @b;
}

sub normalize {
    my @l = map { (my $x = $_) =~ s/\s+$//; $x } @_;
    pop @l while @l && $l[-1] eq '';
    return @l;
}

sub slurp {
    my ($f) = @_;
    open(my $h, '<:encoding(UTF-8)', $f) or die "cannot read $f: $!\n";
    my @l = <$h>;
    close $h;
    chomp @l;
    return @l;
}

sub spew {
    my ($f, @l) = @_;
    open(my $h, '>:encoding(UTF-8)', $f) or die "cannot write $f: $!\n";
    print $h map { "$_\n" } @l;
    close $h;
}

# WORK/output split at the markers script.sql echoes.
sub outputs {
    my %out;
    my $n;
    for my $l (slurp("$work/output")) {
        if ($l =~ /^\@\@README-BLOCK (\d+|end)\@\@$/) {
            $n = $1 eq 'end' ? undef : $1;
            $out{$n} = [] if defined $n;
        } elsif (defined $n) {
            push @{$out{$n}}, $l;
        }
    }
    return %out;
}

my @blocks = blocks();

if ($mode eq 'extract') {
    mkdir "$work/expected";
    my (@script, @index);
    for my $n (1 .. @blocks) {
        my $b = $blocks[$n - 1];
        push @script, "\\echo '\@\@README-BLOCK $n\@\@'";
        push @script, @lines[$b->{start} + 1 .. $b->{end} - 1];
        my @exp = defined $b->{out_start} ? @lines[$b->{out_start} + 1 .. $b->{out_end} - 1] : ();
        spew("$work/expected/$n", @exp);
        push @index, join("\t", $n, $b->{start} + 1, defined $b->{out_start} ? 1 : 0);
    }
    push @script, "\\echo '\@\@README-BLOCK end\@\@'";
    spew("$work/script.sql", @script);
    spew("$work/blocks", @index);
    exit 0;
}

if ($mode eq 'compare') {
    my %out = outputs();
    my $failed = 0;
    for my $n (1 .. @blocks) {
        my $line = $blocks[$n - 1]{start} + 1;
        my @exp = normalize(slurp("$work/expected/$n"));
        if (!exists $out{$n}) {
            print "FAIL: README line $line: the example did not run (psql stopped before it)\n";
            $failed++;
            next;
        }
        my @act = normalize(@{$out{$n}});
        if (join("\n", @exp) eq join("\n", @act)) {
            print "PASS: README line $line: " . (@exp ? scalar(@exp) . " lines as shown" : "runs, prints nothing") . "\n";
            next;
        }
        $failed++;
        print "FAIL: README line $line: the example prints something else than the README shows\n";
        spew("$work/exp.$n", @exp);
        spew("$work/act.$n", @act);
        print map { "    $_" } `diff -u --label README --label psql '$work/exp.$n' '$work/act.$n' | head -n 60`;
    }
    exit($failed ? 1 : 0);
}

if ($mode eq 'update') {
    my %out = outputs();
    # From the last block back, so that earlier line numbers stay put.
    for my $n (reverse 1 .. @blocks) {
        my $b = $blocks[$n - 1];
        next unless exists $out{$n};
        my @act = normalize(@{$out{$n}});
        if (defined $b->{out_start}) {
            splice(@lines, $b->{out_start}, $b->{out_end} - $b->{out_start} + 1,
                   @act ? ('```text', @act, '```') : ());
            # (a blank line before a removed block stays; harmless)
        } elsif (@act) {
            splice(@lines, $b->{end} + 1, 0, '```text', @act, '```');
        }
    }
    spew($readme, @lines);
    exit 0;
}

if ($mode eq 'reference') {
    my $failed = 0;
    my $fail = sub { print "FAIL: $_[0]\n"; $failed++; };
    my $pass = sub { print "PASS: $_[0]\n"; };

    # The Reference section and its subsections, by heading.
    my ($ref) = grep { $lines[$_] =~ /^## Reference\s*$/ } 0 .. $#lines;
    die "README has no '## Reference' section\n" unless defined $ref;
    my %sub;    # subsection title => [first line, last line]
    my $cur;
    for my $i ($ref + 1 .. $#lines) {
        last if $lines[$i] =~ /^## /;
        if ($lines[$i] =~ /^### (.+?)\s*$/) {
            $cur = $1;
            $sub{$cur} = [$i, $i];
        } elsif (defined $cur) {
            $sub{$cur}[1] = $i;
        }
    }
    for my $s ('Functions', 'Settings', 'Tables and views', 'Types') {
        $fail->("the Reference has no '### $s' subsection") unless $sub{$s};
    }
    exit 1 if $failed;

    # Entries of a subsection: '#### ' heading => [lines of its body].
    my $entries = sub {
        my ($s) = @_;
        my (@order, %body, $h);
        for my $i ($sub{$s}[0] + 1 .. $sub{$s}[1]) {
            if ($lines[$i] =~ /^#### (.+?)\s*$/) {
                $h = $1;
                push @order, $h;
                $body{$h} = [];
            } elsif (defined $h) {
                push @{$body{$h}}, $lines[$i];
            }
        }
        return (\@order, \%body);
    };
    # Rows of the first Markdown table in some lines: lists of cells, the
    # header and the --- line left out; backticks around a whole cell and
    # Markdown escapes (\| \* \_) removed.
    my $table = sub {
        my @rows;
        for my $l (@_) {
            next unless $l =~ /^\|/;
            my $x = $l;
            $x =~ s/^\|\s*//;
            $x =~ s/\s*\|\s*$//;
            my @c = map { s/^\s+|\s+$//g; s/^`(.*)`$/$1/; s/\\([|*_])/$1/g; $_ } split /\s*(?<!\\)\|\s*/, $x, -1;
            push @rows, \@c;
        }
        shift @rows;                                    # header
        shift @rows if @rows && $rows[0][0] =~ /^-+$/;  # ---
        return @rows;
    };

    # Functions: every function of the schema (not internal: no leading _)
    # has an entry whose heading shows `cometchat.name(` with each of its
    # arguments' name and type (defaults as you like) and, after the arrow,
    # the names of its OUT columns, and whose examples call it; every entry
    # is a function that exists.
    my ($forder, $fbody) = $entries->('Functions');
    my %seen;
    for my $f (slurp("$work/functions")) {
        my ($name, $idargs) = split /\t/, $f, -1;
        my @args = grep { !/^OUT / } split /, /, $idargs;
        my @outs = map { /^OUT (\S+)/ ? $1 : () } split /, /, $idargs;
        my @h = grep { index($_, "`cometchat.$name(") >= 0 } @$forder;
        my @hit;
        for my $h (@h) {
            my ($inside, $after) = $h =~ /`cometchat\.\Q$name\E\((.*?)\)(.*)$/;
            next unless defined $inside;
            next if grep { index($inside, $_) < 0 } @args;
            my @got = split /, /, $inside;
            next if @got != @args;
            next if grep { $after !~ /\b\Q$_\E\b/ } @outs;
            push @hit, $h;
        }
        my $sig = "cometchat.$name(" . join(', ', @args) . ")";
        if (!@hit) {
            $fail->("Functions: no entry '#### `$sig`'" . (@outs ? " → (" . join(', ', @outs) . ")" : "")
                    . " (defaults as you like)");
            next;
        }
        $seen{$_} = 1 for @hit;
        my $body = join("\n", map { @{$fbody->{$_}} } @hit);
        my @examples = $body =~ /```sql\n(.*?)\n```/sg;
        if (grep { index($_, "cometchat.$name(") >= 0 } @examples) {
            $pass->("Functions: $sig has an entry and an example");
        } else {
            $fail->("Functions: the entry of cometchat.$name has no ```sql example calling it");
        }
    }
    for my $h (@$forder) {
        $fail->("Functions: entry '#### $h' names no function of the extension") unless $seen{$h};
    }

    # Settings: the table lists exactly the settings, with their defaults.
    my @srows = $table->(@lines[$sub{'Settings'}[0] .. $sub{'Settings'}[1]]);
    my %doc = map { $_->[0] => $_->[1] } @srows;
    my %cat = map { my @x = split /\t/, $_, -1; $x[0] => $x[1] } slurp("$work/settings");
    for my $s (sort keys %cat) {
        if (!exists $doc{$s}) { $fail->("Settings: $s is not in the table") }
        elsif ($doc{$s} ne $cat{$s}) { $fail->("Settings: $s defaults to '$cat{$s}', the table says '$doc{$s}'") }
        else { $pass->("Settings: $s, default $cat{$s}") }
    }
    $fail->("Settings: '$_' is in the table but is no setting") for grep { !exists $cat{$_} } sort keys %doc;
    $fail->("Settings: no setting found (was the library loaded?)") unless %cat;

    # Tables and views: an entry per table and view, whose table lists its
    # columns in order with their types and their comments.
    my ($torder, $tbody) = $entries->('Tables and views');
    my (%cols, @rels);
    for my $c (slurp("$work/columns")) {
        my ($rel, $col, $type, $desc) = split /\t/, $c, -1;
        push @rels, $rel unless $cols{$rel};
        push @{$cols{$rel}}, join("\t", $col, $type, $desc);
    }
    my %tseen;
    for my $rel (@rels) {
        my ($h) = grep { $_ =~ /^`cometchat\.\Q$rel\E`/ } @$torder;
        if (!defined $h) {
            $fail->("Tables and views: no entry '#### `cometchat.$rel`'");
            next;
        }
        $tseen{$h} = 1;
        my @doc = map { join("\t", @$_[0 .. 2]) } $table->(@{$tbody->{$h}});
        my @want = @{$cols{$rel}};
        if (join("\n", @doc) eq join("\n", @want)) {
            $pass->("Tables and views: cometchat.$rel, " . scalar(@want) . " columns as in the catalog");
        } else {
            $fail->("Tables and views: cometchat.${rel}: its table differs from the catalog (column, type, comment):");
            spew("$work/tdoc", @doc);
            spew("$work/twant", @want);
            print map { "    $_" } `diff -u --label README --label catalog '$work/tdoc' '$work/twant' | head -n 40`;
        }
    }
    $fail->("Tables and views: entry '#### $_' is no table or view of the extension") for grep { !$tseen{$_} } @$torder;

    # Types: the table lists every type, its labels (enums) and its comment.
    my @trows = $table->(@lines[$sub{'Types'}[0] .. $sub{'Types'}[1]]);
    my %tdoc = map { $_->[0] => join("\t", $_->[1], $_->[2]) } @trows;
    my %tcat = map { my @x = split /\t/, $_, -1; $x[0] => join("\t", $x[1], $x[2]) } slurp("$work/types");
    for my $t (sort keys %tcat) {
        if (!exists $tdoc{$t}) { $fail->("Types: $t is not in the table") }
        elsif ($tdoc{$t} ne $tcat{$t}) { $fail->("Types: $t: the table says '$tdoc{$t}', the catalog '$tcat{$t}'") }
        else { $pass->("Types: $t") }
    }
    $fail->("Types: '$_' is in the table but is no type of the extension") for grep { !exists $tcat{$_} } sort keys %tdoc;

    exit($failed ? 1 : 0);
}

die "unknown mode $mode\n";
