"""French, German and Spanish pages (local news and club notices) for the language filter to drop.

Small phrase grammars: subject, verb, object and complement lists per language combined by a few sentence
patterns, so pages read as real sentences of that language (language identifiers see its function words).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class LanguagePhrases:
    code: str
    subjects: list[str]
    verbs: list[str]
    objects: list[str]
    complements: list[str]
    openers: list[str]
    patterns: list[str]
    titles: list[str]
    closings: list[str]


def _lines(block: str) -> list[str]:
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


FRENCH = LanguagePhrases(
    code="fr",
    subjects=_lines("""
        le gouvernement
        la ville
        mon voisin
        notre équipe
        le professeur
        la famille Martin
        un ami de longue date
        le directeur du musée
        la mairie
        ce petit restaurant
        le marché du samedi
        la région
        l'association des parents
        le club de football
        la bibliothèque municipale
        une jeune entreprise locale
    """),
    verbs=_lines("""
        a présenté
        prépare
        organise
        propose
        annonce
        développe
        cherche encore
        a enfin trouvé
        souhaite soutenir
        va bientôt ouvrir
        a décidé de financer
        recommande vivement
        veut améliorer
        a longtemps attendu
    """),
    objects=_lines("""
        un nouveau projet
        une grande fête
        la rénovation de l'école
        des cours de cuisine
        un programme culturel
        une exposition de photographies
        un concert gratuit
        des ateliers pour les enfants
        une piste cyclable
        un jardin partagé
        la fermeture du pont
        une collecte de vêtements
        un festival de musique
        des visites guidées du centre historique
        un service de transport pour les personnes âgées
    """),
    complements=_lines("""
        pour les habitants du quartier
        au mois de juin
        dans le centre-ville
        avec le soutien de l'association
        depuis plusieurs années
        malgré la pluie
        avant la fin de l'été
        grâce à de nombreux bénévoles
        pendant les vacances scolaires
        sur la place de la gare
        chaque premier dimanche du mois
        en collaboration avec la région
    """),
    openers=_lines("""
        selon le journal local,
        depuis le début de l'année,
        comme chaque printemps,
        d'après les organisateurs,
        pour la première fois,
        après de longs mois de travaux,
        à la surprise générale,
        cette semaine encore,
    """),
    patterns=_lines("""
        {S} {V} {O} {C}.
        {Op} {s} {V} {O}.
        {S} {V} {O}, et les habitants sont très contents de ce changement.
        Il faut noter que {s} {V} {O} {C}.
        C'est pourquoi {s} {V} {O}.
        {S} nous a expliqué pourquoi elle {V} {O} {C}.
        Beaucoup de gens se demandent si {s} {V} vraiment {O}.
        {Op} {s} {V} {O} {C}, mais tout le monde n'est pas d'accord.
    """),
    titles=_lines("""
        Actualités de la commune
        Une semaine riche en événements
        Ce qu'il faut savoir cette semaine
        Les nouvelles du quartier
        Agenda culturel du mois
    """),
    closings=_lines("""
        Pour plus d'informations, vous pouvez contacter la mairie.
        Nous vous attendons nombreux !
        Merci à tous les bénévoles pour leur aide précieuse.
    """),
)

GERMAN = LanguagePhrases(
    code="de",
    subjects=_lines("""
        die Stadt
        der Verein
        unsere Familie
        das Unternehmen
        mein Nachbar
        die Schule am Markt
        der Bürgermeister
        das neue Team
        die Bibliothek
        der Sportverein
        die Gemeinde
        ein junges Paar aus dem Dorf
        das kleine Café an der Ecke
        die Feuerwehr
        der Elternbeirat
    """),
    verbs=_lines("""
        plant
        organisiert
        bietet
        sucht noch
        eröffnet
        unterstützt
        präsentiert
        startet
        entwickelt
        verschiebt
        fordert
        braucht dringend
        feiert
        renoviert
    """),
    objects=_lines("""
        ein neues Projekt
        einen Kochkurs
        eine große Feier
        die Renovierung der Schule
        mehr Parkplätze
        einen Workshop für Kinder
        ein Konzert im Park
        einen neuen Radweg
        eine Ausstellung über die Geschichte der Region
        freiwillige Helfer
        einen Flohmarkt
        die Sanierung der alten Brücke
        ein Sommerfest für die ganze Familie
        kostenlose Führungen durch die Altstadt
    """),
    complements=_lines("""
        im nächsten Sommer
        für alle Bürger
        in der Innenstadt
        mit Unterstützung der Gemeinde
        seit vielen Jahren
        trotz des Regens
        am Wochenende
        noch vor den Ferien
        gemeinsam mit den Nachbarn
        auf dem Platz vor dem Rathaus
        jeden ersten Sonntag im Monat
        zum ersten Mal
    """),
    openers=_lines("""
        laut der Lokalzeitung
        seit Anfang des Jahres
        wie jedes Jahr im Frühling
        nach Angaben der Veranstalter
        in diesem Jahr
        nach langen Monaten der Planung
        zur Überraschung vieler Bewohner
        auch in dieser Woche
    """),
    patterns=_lines("""
        {S} {V} {C} {O}.
        {Op} {V} {s} {O}.
        {S} {V} {O}, und die Bewohner freuen sich sehr darüber.
        Es ist wichtig, dass {s} {O} {C} {Vend}.
        Deshalb {V} {s} {C} {O}.
        Viele Leute fragen sich, ob {s} wirklich {O} {Vend}.
        {Op} {V} {s} {O}, aber nicht alle sind damit einverstanden.
        {S} {V} {O}, weil es {C} keine Alternative gibt.
    """),
    titles=_lines("""
        Neuigkeiten aus der Gemeinde
        Was diese Woche wichtig ist
        Termine und Veranstaltungen im Überblick
        Aus dem Vereinsleben
        Nachrichten aus der Region
    """),
    closings=_lines("""
        Weitere Informationen gibt es im Rathaus.
        Wir freuen uns auf Ihren Besuch!
        Vielen Dank an alle Helfer für die großartige Unterstützung.
    """),
)

SPANISH = LanguagePhrases(
    code="es",
    subjects=_lines("""
        el ayuntamiento
        la ciudad
        mi vecino
        nuestro equipo
        la empresa
        el profesor
        la familia García
        un amigo de la infancia
        la directora del museo
        este pequeño restaurante
        el mercado del sábado
        la asociación de vecinos
        el club de baloncesto
        la biblioteca municipal
        una joven empresa local
    """),
    verbs=_lines("""
        ha presentado
        prepara
        organiza
        propone
        anuncia
        desarrolla
        busca todavía
        por fin ha encontrado
        quiere apoyar
        va a abrir pronto
        ha decidido financiar
        recomienda
        quiere mejorar
        ha esperado mucho tiempo
    """),
    objects=_lines("""
        un nuevo proyecto
        una gran fiesta
        la renovación de la escuela
        clases de cocina
        un programa cultural
        una exposición de fotografía
        un concierto gratuito
        talleres para los niños
        un carril bici
        un huerto comunitario
        el cierre del puente
        una recogida de ropa
        un festival de música
        visitas guiadas por el casco antiguo
        un servicio de transporte para las personas mayores
    """),
    complements=_lines("""
        para los vecinos del barrio
        en el mes de junio
        en el centro de la ciudad
        con el apoyo de la asociación
        desde hace varios años
        a pesar de la lluvia
        antes del final del verano
        gracias a muchos voluntarios
        durante las vacaciones escolares
        en la plaza de la estación
        cada primer domingo del mes
        en colaboración con la región
    """),
    openers=_lines("""
        según el periódico local,
        desde principios de año,
        como cada primavera,
        según los organizadores,
        por primera vez,
        después de largos meses de obras,
        para sorpresa de todos,
        también esta semana,
    """),
    patterns=_lines("""
        {S} {V} {O} {C}.
        {Op} {s} {V} {O}.
        {S} {V} {O}, y los vecinos están muy contentos con este cambio.
        Hay que destacar que {s} {V} {O} {C}.
        Por eso {s} {V} {O}.
        {S} nos explicó por qué {V} {O} {C}.
        Mucha gente se pregunta si {s} {V} de verdad {O}.
        {Op} {s} {V} {O} {C}, pero no todo el mundo está de acuerdo.
    """),
    titles=_lines("""
        Noticias del barrio
        Una semana llena de actividades
        Lo que hay que saber esta semana
        Agenda cultural del mes
        Novedades de la ciudad
    """),
    closings=_lines("""
        Para más información, pueden contactar con el ayuntamiento.
        ¡Les esperamos a todos!
        Gracias a todos los voluntarios por su ayuda.
    """),
)

LANGUAGES: dict[str, LanguagePhrases] = {phrases.code: phrases for phrases in (FRENCH, GERMAN, SPANISH)}
_GERMAN_VERB_FINAL = {"sucht noch": "noch sucht", "braucht dringend": "dringend braucht"}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(rng: random.Random, language: LanguagePhrases) -> str:
    subject = rng.choice(language.subjects)
    verb = rng.choice(language.verbs)
    sentence = rng.choice(language.patterns).format(
        S=_capitalise(subject),
        s=subject,
        V=verb,
        Vend=_GERMAN_VERB_FINAL.get(verb, verb),
        O=rng.choice(language.objects),
        C=rng.choice(language.complements),
        Op=_capitalise(rng.choice(language.openers)),
    )
    return _capitalise(sentence)


def foreign_page(rng: random.Random, code: str) -> str:
    """A page of 100 to 300 words in the language `code` (fr, de or es): a title and a few paragraphs."""
    language = LANGUAGES[code]
    paragraphs: list[str] = []
    words = 0
    target = rng.randint(110, 300)
    while words < target:
        paragraph = " ".join(_sentence(rng, language) for _ in range(rng.randint(2, 5)))
        paragraphs.append(paragraph)
        words += len(paragraph.split())
    paragraphs.append(rng.choice(language.closings))
    return "\n\n".join([rng.choice(language.titles), *paragraphs])
